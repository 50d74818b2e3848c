package news.pipeline.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.pt.PortugueseAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Registers the stock Elasticsearch analyzer name "portuguese" for the local test node.
 *
 * <p>The integ-test distribution ships without the analysis-common module, so "portuguese" is
 * missing. Production Elasticsearch backs "portuguese" with Lucene's {@link PortugueseAnalyzer}
 * built with its default stop words and no stem exclusions; this factory does exactly that,
 * so local analysis matches production.
 */
@NamedComponent("portuguese")
public final class PortugueseAnalyzerFactory implements AnalyzerFactory {

    /** Public no-arg constructor: stable plugin components are instantiated reflectively. */
    public PortugueseAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new PortugueseAnalyzer();
    }
}
