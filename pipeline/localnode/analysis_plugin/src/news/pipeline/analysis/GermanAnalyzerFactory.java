package news.pipeline.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.de.GermanAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Registers the stock Elasticsearch analyzer name "german" for the local test node.
 *
 * <p>The integ-test distribution ships without the analysis-common module, so "german" is
 * missing. Production Elasticsearch backs "german" with Lucene's {@link GermanAnalyzer}
 * built with its default stop words and no stem exclusions; this factory does exactly that,
 * so local analysis matches production.
 */
@NamedComponent("german")
public final class GermanAnalyzerFactory implements AnalyzerFactory {

    /** Public no-arg constructor: stable plugin components are instantiated reflectively. */
    public GermanAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new GermanAnalyzer();
    }
}
