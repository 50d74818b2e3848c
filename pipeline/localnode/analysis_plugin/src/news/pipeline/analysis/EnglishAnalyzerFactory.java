package news.pipeline.analysis;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.AnalyzerFactory;

/**
 * Registers the stock Elasticsearch analyzer name "english" for the local test node.
 *
 * <p>The integ-test distribution ships without the analysis-common module, so "english" is
 * missing. Production Elasticsearch backs "english" with Lucene's {@link EnglishAnalyzer}
 * built with its default stop words and no stem exclusions; this factory does exactly that,
 * so local analysis matches production.
 */
@NamedComponent("english")
public final class EnglishAnalyzerFactory implements AnalyzerFactory {

    /** Public no-arg constructor: stable plugin components are instantiated reflectively. */
    public EnglishAnalyzerFactory() {}

    @Override
    public Analyzer create() {
        return new EnglishAnalyzer();
    }
}
