package news.pipeline.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Registers the stock Elasticsearch analyzer name "french" for the local test node.
 *
 * <p>The integ-test distribution ships without the analysis-common module, so "french" is
 * missing. Production Elasticsearch backs "french" with Lucene's {@link FrenchAnalyzer}
 * built with its default stop words and no stem exclusions; this factory does exactly that,
 * so local analysis matches production.
 */
@NamedComponent("french")
public final class FrenchAnalyzerFactory implements AnalyzerFactory {

    /** Public no-arg constructor: stable plugin components are instantiated reflectively. */
    public FrenchAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new FrenchAnalyzer();
    }
}
